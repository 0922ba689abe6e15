"""The transformer model: a fine-tuned encoder with token and span heads.

``encoding`` (word pieces with offsets, windows), ``detector`` (inference with
onnxruntime and numpy), ``network`` (the same model in torch), ``train`` (fitting and
threshold tuning) and ``export`` (ONNX and int8). Only inference is needed at run time.
"""
