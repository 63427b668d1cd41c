from ticker.cli import main

main()
