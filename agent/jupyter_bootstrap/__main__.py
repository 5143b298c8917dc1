from jupyter_bootstrap.cli import main

main()
