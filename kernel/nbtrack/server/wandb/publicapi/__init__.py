"""The read surface of W&B's GraphQL that ``wandb.Api()`` uses, answered from storage.

:mod:`.runs` (project and run fields, the runs connection), :mod:`.filters` (W&B's
MongoDB-style filters and order), :mod:`.history` (history, sampled history, keys, system
metrics), :mod:`.files` (the files connection, signed download URLs) and :mod:`.projects`
(the ``models`` connection). :mod:`nbtrack.server.wandb.resolvers` wires them in.
"""
