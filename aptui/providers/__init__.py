"""Secret-manager provider clients behind one async protocol (``base.Provider``).

Heavy SDKs (boto3, hvac, onepassword) are imported only inside the provider that needs them.
"""
