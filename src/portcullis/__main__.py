from portcullis.cli.main import main

main()
