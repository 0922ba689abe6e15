"""The classical baseline: hashed word features for spans, TF-IDF for techniques.

``features`` (what the model sees), ``detector`` (the model, saved without pickle)
and ``train`` (fitting and threshold tuning). It is also the transformer's companion.
"""
