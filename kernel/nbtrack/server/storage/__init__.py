"""Where the server keeps runs, accounts and files: the interface (``base``), its SQLite and
PostgreSQL backends with their migrations, the choice by URL (``url``) and the uploaded
files on disk (``files``)."""
