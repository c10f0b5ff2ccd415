from nbtrack.cli.main import main

raise SystemExit(main())
