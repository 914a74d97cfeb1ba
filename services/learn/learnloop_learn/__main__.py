"""``python -m learnloop_learn [api|worker|all]``."""

from learnloop_shared.runtime import main

from .app import SERVICE

if __name__ == "__main__":
    main(SERVICE)
