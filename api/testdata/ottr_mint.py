"""Mints what Airbnb Ottr's API stored and issued, with the libraries it
used: a user's password hash (api/backend/app/models.py User.__init__:
bcrypt.hashpw(password.encode('utf8'), bcrypt.gensalt(14))) and a login
token (api/backend/app/namespace/user.py post(): claims username, role,
iat, exp = iat + 30 minutes, RS256 with the private key).

usage: ottr_mint.py KEY.pem USERNAME ROLE PASSWORD [COST]  ->  {"hash":…, "token":…}
COST is bcrypt's (Ottr's is 14, the default); a lower one only makes tests faster.
"""
import json
import sys
from datetime import datetime, timedelta

import bcrypt
import jwt

key_path, username, role, password = sys.argv[1:5]
cost = int(sys.argv[5]) if len(sys.argv) > 5 else 14
with open(key_path) as f:
    private_key = f.read()

password_hash = bcrypt.hashpw(password.encode('utf8'), bcrypt.gensalt(cost)).decode('utf8')
payload = {
    'username': username,
    'role': role,
    'iat': datetime.utcnow(),
    'exp': datetime.utcnow() + timedelta(minutes=30),
}
token = jwt.encode(payload, private_key, algorithm='RS256')
if isinstance(token, bytes):  # PyJWT 1.x, as Ottr pinned, returned bytes
    token = token.decode('utf8')
json.dump({'hash': password_hash, 'token': token}, sys.stdout)
