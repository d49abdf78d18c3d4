"""A study's session with its storage: the one place Optuna objects are created.

- :mod:`.storage`: storage URLs, passwords, the Optuna storage (SQLite, PostgreSQL);
- :mod:`.settings`: the settings a study is bound to;
- :mod:`.sampler`: the samplers, seeded per trial;
- :mod:`.recovery`: interrupted trials found and retried;
- :mod:`.open`: creating and loading studies, the ``--study``/``--storage`` handling;
- :mod:`.preflight`: what is checked before a study touches its storage.
"""
