package console

func init() {
	addMessages(msgs{
		"api_docs": "Tài liệu API",
	}, msgs{
		"api_docs": "API reference",
	})
}
