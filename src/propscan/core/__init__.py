"""The centre of propscan: plain, frozen data types that every other layer shares.

``spans`` (Span, Article, Annotations), ``analysis`` (Analysis and its versioned JSON),
``techniques`` (the 14 PTC labels), ``sentences`` (the sentence splitter) and
``checks`` (the rules for values users give). Nothing here reads files or runs models.
"""
