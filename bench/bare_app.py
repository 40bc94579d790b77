"""The smallest Flask app, served with the shipped gunicorn config: the benchmark's yardstick.

gunicorn -c gunicorn.conf.py bench.bare_app:app
"""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "Hello from a bare Flask app."
