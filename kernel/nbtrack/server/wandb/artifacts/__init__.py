"""W&B's artifacts on the tracking server (``docs/artifacts.md``): the GraphQL operations
(:mod:`.mutations`, :mod:`.views`), the names they accept (:mod:`.names`) and the bodies'
signed, digest-checked transfer (:mod:`.transfer`)."""
