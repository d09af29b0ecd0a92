from portcullis.cli.main import run

run()
