"""How good a model is: predictions in PTC files with their scores, and model cards.

``evaluate`` predicts a labelled corpus and scores it with :mod:`propscan.ptc.scoring`;
``model_card`` trains a model with ``propscan train`` and documents it.
"""
