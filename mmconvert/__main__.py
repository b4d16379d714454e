"""``python -m mmconvert``: the same as the ``mmconvert`` console script."""

from mmconvert.cli import main

main()
