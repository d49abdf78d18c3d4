"""The simulator binaries (``monte_carlo``, ``sim_eval``) as Python sees them.

- :mod:`.build`: where the binaries are, building them when needed;
- :mod:`._process`: running one command (no shell, a timeout, a clean environment);
- :mod:`.client`: every argument list, error and verification call;
- :mod:`.summary`, :mod:`.outputs`: reading what the binaries write;
- :mod:`.envfile`: the ``PARAPHINA_*`` overlay as an ``export`` file.
"""
