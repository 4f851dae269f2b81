"""Who is speaking and what answers: the router, global words and one-shot commands."""
