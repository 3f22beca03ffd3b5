"""The framework-free core: imports neither langchain nor llama_index, ever."""
