print("tcpcopy")
