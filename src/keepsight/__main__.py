from keepsight.cli.app import main

main()
