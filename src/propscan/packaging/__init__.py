"""Model packages: a trained model as a Python package that ``pip`` installs and propscan
finds by name (:mod:`~propscan.packaging.build` writes one; :mod:`~propscan.packaging.backend`
is the build backend each package carries)."""
