print("revsdd")
