async def load_employment_demo(client):
    return None
