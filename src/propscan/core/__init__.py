"""The centre of propscan: plain, frozen data types that every other layer shares.

``spans`` (Span, Article, Annotations), ``analysis`` (Analysis and its versioned JSON),
``techniques`` (the 14 PTC labels), ``sentences`` (the sentence splitter),
``checks`` (the rules for values users give, and the default limits) and ``words``
(counts written with the right plural). Nothing here reads files or runs models.
"""
