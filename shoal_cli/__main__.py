from shoal_cli.app import main

main()
