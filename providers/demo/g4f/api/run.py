"""`python -m g4f.api.run`: the API server on port 1337 with debug logging."""

import g4f.api

if __name__ == "__main__":
    g4f.api.run_api(debug=True)
