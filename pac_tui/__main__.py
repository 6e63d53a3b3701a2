from pac_tui.cli import main

raise SystemExit(main())
