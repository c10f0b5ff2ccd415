"""What nbtrack's processes must agree on, written once.

The W&B wire (run file names, the config format, ``output.log`` lines, the strict-JSON
encoding of NaN / ±inf, the HTTP paths) and nbtrack's local protocol (the data directory,
the local server's state file, how a kernel or Jupyter finds the server), plus the one
min/max downsampler the server's answers share. The kernel side, the server and the
Jupyter extension all import it, so it uses the standard library only and imports nothing
else of nbtrack (``lint-imports`` checks both): the server still starts in a fraction of a
second and no process pulls in another's code through it.
"""
