"""xAPI (Experience API) rules of the Learning Record Store: pure, no I/O."""
