print("intercept")
