"""Framework-free algorithms (numpy only): no Django, Ninja or Channels imports."""
