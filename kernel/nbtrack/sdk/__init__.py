"""The user's thread: init / log / finish, the Run object, what may be logged, the finish
protocol, and replaying a log (sync)."""
