"""Response objects shaped like OpenAI's."""

import time


class Message:
    def __init__(self, content, role="assistant"):
        self.role = role
        self.content = content


class Choice:
    def __init__(self, message, index=0, finish_reason="stop"):
        self.index = index
        self.message = message
        self.finish_reason = finish_reason


class ChatCompletion:
    def __init__(self, completion_id, content, model, provider):
        self.id = completion_id
        self.object = "chat.completion"
        self.created = int(time.time())
        self.model = model
        self.provider = provider
        self.choices = [Choice(Message(content))]


class Delta:
    def __init__(self, content, role="assistant"):
        self.role = role
        self.content = content


class ChunkChoice:
    def __init__(self, delta, index=0, finish_reason=None):
        self.index = index
        self.delta = delta
        self.finish_reason = finish_reason


class ChatCompletionChunk:
    def __init__(self, completion_id, content, model, provider, finish_reason=None):
        self.id = completion_id
        self.object = "chat.completion.chunk"
        self.created = int(time.time())
        self.model = model
        self.provider = provider
        self.choices = [ChunkChoice(Delta(content), finish_reason=finish_reason)]
