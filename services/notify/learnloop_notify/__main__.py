"""``python -m learnloop_notify [api|worker|all]``."""

from learnloop_shared.runtime import main

from .app import SERVICE

if __name__ == "__main__":
    main(SERVICE)
