from portal import create_app
from portal.infra.limits import raise_open_file_limit

# Each held event stream is a socket: let the worker use every descriptor it may.
raise_open_file_limit()
app = create_app()
