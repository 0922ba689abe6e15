"""The Propaganda Techniques Corpus (PTC) and its tasks, as files and as numbers.

``io`` reads and writes articles and labels files; ``splits`` loads ``train``/``dev``
and names the held-out validation part; ``stats`` describes a split; ``scoring``
holds the scorers of the SI, TC and FLC tasks, equal to the official ones.
"""
