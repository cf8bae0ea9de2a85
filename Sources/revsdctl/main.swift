print("revsdctl")
