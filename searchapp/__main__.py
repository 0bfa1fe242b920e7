from searchapp.cli import cli

cli()
