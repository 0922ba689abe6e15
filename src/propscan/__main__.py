"""``python -m propscan``: the same commands as the ``propscan`` console script."""

from propscan.cli import main

main()
