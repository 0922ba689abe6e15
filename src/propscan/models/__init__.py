"""Propaganda models: one interface, one registry, one decoder, two implementations.

``base`` is the :class:`~propscan.models.base.Detector` protocol and the ``model.json``
format; ``registry`` loads a model directory by its ``kind``; ``decoding`` turns token
probabilities into labelled spans for every model; ``baseline`` (classical, hashed
features and TF-IDF) and ``transformer`` (a fine-tuned encoder run with onnxruntime)
each hold their features or encoding, their detector and their training.
"""
