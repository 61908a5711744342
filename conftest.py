pytest_plugins = ["jinguo_shared.testing"]
