"""`python -m esi_sim --port 8088 --scale tiny --seed 1`."""

from esi_sim.cli import main

raise SystemExit(main())
