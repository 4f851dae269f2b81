"""The channels. Only this package imports telegram or twilio.

The channel-neutral values every floor uses live below, in ``wlcc.messages``: the floors under
this one never import it.
"""
