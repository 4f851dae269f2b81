"""The channels. Only this package imports telegram or twilio.

``bot.messages`` holds the channel-neutral values and imports nothing of the project, so the
layers above may use those values without depending on any channel.
"""
