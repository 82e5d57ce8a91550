"""Python model builders for the bad-spec corpus."""


def not_a_model():
    return "a string, not a Keras model"
