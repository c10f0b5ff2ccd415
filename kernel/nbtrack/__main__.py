from nbtrack.cli import main

raise SystemExit(main())
