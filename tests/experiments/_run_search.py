"""Run a small search into a store (a subprocess for the SIGKILL resume test): python _run_search.py PATH TRIALS."""

import sys

from lstmcast.experiments.search import search

SPACE = ["epochs=40..60", "units=2..4"]

if __name__ == "__main__":
    search("shampoo", trials=int(sys.argv[2]), space=SPACE, repeats=2, store=sys.argv[1], name="killed", workers=1,
           prune=False)
