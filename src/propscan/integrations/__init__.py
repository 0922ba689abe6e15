"""Adapters between propscan's data model and the tools people already use.

* :mod:`propscan.integrations.spacy` -- the ``propscan`` spaCy pipeline component
  (``pip install 'propscan[spacy]'``);
* :mod:`propscan.integrations.labelstudio` -- Label Studio tasks, labelling config and
  the import of Label Studio exports as a PTC-layout corpus.

Each module imports its third-party library only where it needs it, so importing
propscan never requires them.
"""
