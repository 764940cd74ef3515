"""``python -m hamflex`` runs the same CLI as the ``hamflex`` command."""

from hamflex.cli import main

main()
