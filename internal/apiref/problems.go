package apiref

import "slices"

// Problem explains one error code: the page its problem type URI names.
type Problem struct {
	Code   string
	Status int // the HTTP status the REST API answers it with
	VI, EN Text
}

// VDXPOnly reports whether only the /vdxp/ endpoints answer p's code
// (docs/vdxp.md): in the reply's ErrorCode, with HTTP status 200 unless
// the channel's HTTPStatus option is on, then Status.
func (p Problem) VDXPOnly() bool {
	return slices.ContainsFunc(VDXPProblems, func(q Problem) bool { return q.Code == p.Code })
}

// Text is a problem's explanation in one language.
type Text struct {
	Title string // what happened, one line
	Fix   string // what the caller does about it
}

// Problems is the catalogue: the ErrorCode enum of schemas/openapi.yaml,
// in its order (the authoritative list of the REST API; a test keeps them
// equal), then VDXPProblems.
var Problems = slices.Concat(restProblems, VDXPProblems)

var restProblems = []Problem{
	{"xml.malformed", 400,
		Text{"Gói tin không phải XML hợp lệ (hoặc không đọc hết được).", "Kiểm tra tệp gửi đi là edXML nguyên vẹn, mã hoá UTF-8; chỉ lỗi XML đầu tiên được báo."},
		Text{"The packet is not well-formed XML (or could not be read to the end).", "Send the complete edXML file, UTF-8 encoded; only this first fatal XML error is reported."}},
	{"xml.dtd_forbidden", 400,
		Text{"Gói tin có khai báo DTD (<!DOCTYPE>), điều bị cấm vì an toàn.", "Bỏ phần <!DOCTYPE> khỏi gói tin; edXML không dùng DTD."},
		Text{"The packet declares a DTD (<!DOCTYPE>), which is refused for safety.", "Remove the <!DOCTYPE>; edXML needs none."}},
	{"xml.too_deep", 400,
		Text{"Cây XML lồng quá sâu.", "Gói tin edXML hợp lệ không lồng sâu như vậy; kiểm tra phần mềm tạo gói tin."},
		Text{"The XML nests elements too deeply.", "A valid edXML packet never nests this deep; check the software that builds it."}},
	{"xml.too_large", 413,
		Text{"Gói tin (hoặc yêu cầu) vượt quá kích thước tối đa của trục.", "Giảm kích thước tệp đính kèm hoặc hỏi đơn vị vận hành về giới hạn (hub.maxBodyBytes)."},
		Text{"The packet (or the request) is larger than the hub accepts.", "Send smaller attachments, or ask the operator about the limit (hub.maxBodyBytes)."}},
	{"edxml.namespace", 422,
		Text{"Phần tử gốc hoặc không gian tên không phải của edXML.", "Dùng không gian tên edXML của QCVN 102:2016."},
		Text{"The root element or its namespace is not edXML's.", "Use the edXML namespace of QCVN 102:2016."}},
	{"edxml.missing_field", 422,
		Text{"Thiếu một trường bắt buộc (đường dẫn trong errors[].path).", "Bổ sung trường được nêu rồi gửi lại."},
		Text{"A required field is missing (its path is in errors[].path).", "Add the field named and send again."}},
	{"edxml.bad_organ_id", 422,
		Text{"Mã định danh cơ quan không đúng khuôn dạng.", "Dùng mã dạng DDD.DD.DD.Xnn (2016) hoặc theo QĐ 20/2020 (tối đa 35 ký tự [0-9A-Z.])."},
		Text{"An OrganId is not in a valid form.", "Use the 2016 form DDD.DD.DD.Xnn or the QĐ 20/2020 form (up to 35 characters of [0-9A-Z.])."}},
	{"edxml.bad_date", 422,
		Text{"Ngày giờ không đọc được.", "Ghi ngày giờ theo khuôn dạng edXML (ví dụ 2025-03-01T08:30:00+07:00)."},
		Text{"A date or time cannot be read.", "Write dates as edXML does (e.g. 2025-03-01T08:30:00+07:00)."}},
	{"edxml.bad_status_code", 422,
		Text{"Mã trạng thái không thuộc danh mục (01–06, 13, 15, 16).", "Dùng một mã trạng thái hợp lệ."},
		Text{"The status code is not one of 01–06, 13, 15, 16.", "Use a valid status code."}},
	{"edxml.bad_business_type", 422,
		Text{"Loại nghiệp vụ (BussinessDocType) không hợp lệ.", "Dùng một giá trị BussinessDocType của QCVN 102:2016."},
		Text{"The business type (BussinessDocType) is not valid.", "Use a BussinessDocType value of QCVN 102:2016."}},
	{"edxml.duplicate_recipient", 422,
		Text{"Một cơ quan nhận được ghi hai lần.", "Ghi mỗi cơ quan nhận một lần."},
		Text{"A recipient is listed twice.", "List each recipient once."}},
	{"edxml.attachment_missing", 422,
		Text{"Tệp đính kèm được tham chiếu nhưng không có trong gói tin.", "Đính kèm tệp được tham chiếu hoặc bỏ tham chiếu."},
		Text{"An attachment is referenced but not in the packet.", "Include the attachment or drop the reference."}},
	{"edxml.attachment_encoding", 422,
		Text{"Nội dung tệp đính kèm không phải base64 hợp lệ.", "Mã hoá tệp đính kèm bằng base64 chuẩn."},
		Text{"An attachment's content is not valid base64.", "Encode attachments in standard base64."}},
	{"edxml.attachment_too_large", 422,
		Text{"Một tệp đính kèm vượt quá kích thước cho phép.", "Giảm kích thước tệp hoặc hỏi đơn vị vận hành về giới hạn."},
		Text{"An attachment is larger than allowed.", "Send a smaller file, or ask the operator about the limit."}},
	{"edxml.duplicate_element", 422,
		Text{"Một phần tử chỉ được có một lần lại xuất hiện hai lần.", "Giữ một lần phần tử được nêu trong errors[].path."},
		Text{"A single-valued element appears twice.", "Keep one of the element named in errors[].path."}},
	{"edxml.duplicate_content_id", 422,
		Text{"Hai tệp đính kèm trùng ContentId.", "Đặt ContentId khác nhau cho mỗi tệp."},
		Text{"Two attachments share a ContentId.", "Give each attachment its own ContentId."}},
	{"edxml.kind_mismatch", 422,
		Text{"Loại thông điệp khai báo mâu thuẫn với nội dung (văn bản hay trạng thái).", "Khai báo đúng loại: văn bản (edoc) hoặc gói tin trạng thái (status)."},
		Text{"The declared message type contradicts the content (document or status).", "Declare the right kind: a document (edoc) or a status packet."}},
	{"sig.missing", 422,
		Text{"Gói tin không có chữ ký số mà chính sách của kênh yêu cầu.", "Gửi kèm chữ ký CMS tách rời (phần signature) hoặc chữ ký XML-DSig trong edXMLHeader."},
		Text{"The packet carries no signature and the channel's policy requires one.", "Send a detached CMS signature (the signature part) or an XML-DSig in edXMLHeader."}},
	{"sig.malformed", 422,
		Text{"Chữ ký không đọc được (không phải CMS/XML-DSig hợp lệ).", "Kiểm tra tệp chữ ký (DER hoặc PEM) và phần mềm ký."},
		Text{"The signature cannot be read (not a valid CMS or XML-DSig).", "Check the signature file (DER or PEM) and the signing software."}},
	{"sig.invalid", 422,
		Text{"Chữ ký không khớp với nội dung hoặc khoá.", "Ký lại đúng các byte được gửi; không sửa gói tin sau khi ký."},
		Text{"The signature does not verify.", "Sign the exact bytes you send; do not change the packet after signing."}},
	{"sig.digest_mismatch", 422,
		Text{"Giá trị băm trong chữ ký khác với nội dung gói tin.", "Gói tin đã bị thay đổi sau khi ký: ký lại."},
		Text{"The digest in the signature differs from the packet's.", "The packet changed after it was signed: sign it again."}},
	{"sig.untrusted", 422,
		Text{"Chứng thư ký không dẫn về một gốc tin cậy của trục.", "Dùng chứng thư do CA được trục tin cậy cấp, gửi kèm chứng thư trung gian."},
		Text{"The signer's certificate does not chain to a root the hub trusts.", "Sign with a certificate from a trusted CA, including the intermediates."}},
	{"sig.expired", 422,
		Text{"Chứng thư ký đã hết hạn vào lúc trục nhận gói tin.", "Gia hạn chứng thư và ký lại."},
		Text{"The signer's certificate had expired when the hub received the packet.", "Renew the certificate and sign again."}},
	{"sig.not_yet_valid", 422,
		Text{"Chứng thư ký chưa có hiệu lực vào lúc trục nhận gói tin.", "Kiểm tra thời hạn chứng thư và đồng hồ của máy ký."},
		Text{"The signer's certificate was not yet valid when the hub received the packet.", "Check the certificate's validity and the signing machine's clock."}},
	{"sig.revoked", 422,
		Text{"Chứng thư ký đã bị thu hồi.", "Ký bằng một chứng thư còn hiệu lực."},
		Text{"The signer's certificate is revoked.", "Sign with a certificate that is not revoked."}},
	{"sig.signer_mismatch", 422,
		Text{"Chứng thư ký thuộc cơ quan khác với cơ quan gửi (From).", "Ký bằng chứng thư của chính cơ quan gửi (UID = mã định danh)."},
		Text{"The signer's certificate belongs to another organ than the packet's From.", "Sign with the sending organ's own certificate (its UID is the OrganId)."}},
	{"pdf.organ_signature_missing", 422,
		Text{"Tệp PDF chính của văn bản (tệp PDF đầu tiên) không có chữ ký số hợp lệ của cơ quan gửi, mà chính sách của kênh hoặc của cơ quan đòi hỏi.", "Ký số tệp PDF bằng chứng thư của cơ quan (lienthong sign --pdf, hoặc ký trên trang soạn thảo) rồi gửi lại; chi tiết từng chữ ký ở verification.attachments."},
		Text{"The document's main PDF (its first PDF) lacks a valid signature of the sending organ, which the channel's or the agency's policy requires.", "Seal the PDF with the organ's certificate (lienthong sign --pdf, or sign on the console's compose page) and send again; verification.attachments has each signature's verdict."}},
	{"auth.required", 401,
		Text{"Thiếu thông tin xác thực hoặc thông tin không đúng.", "Gửi Authorization: Bearer <mã truy cập của cơ quan> hoặc chứng thư TLS của máy khách."},
		Text{"No credentials, or unknown ones.", "Send Authorization: Bearer <agency token> or a TLS client certificate."}},
	{"auth.forbidden", 403,
		Text{"Đã xác thực nhưng không được phép (ví dụ gửi thay cơ quan khác).", "Chỉ gửi gói tin có From là cơ quan của mình."},
		Text{"Authenticated but not allowed (for example sending as another organ).", "Send only packets whose From is your own organ."}},
	{"packet.conflict", 409,
		Text{"Đã có gói tin cùng mã (id) nhưng khác nội dung.", "Một văn bản mới cần DocumentId mới; gửi lại đúng các byte cũ thì nhận lại biên nhận cũ."},
		Text{"A packet with the same id was accepted with other bytes.", "A new document needs a new DocumentId; resending the same bytes returns the original receipt."}},
	{"packet.unknown_recipient", 422,
		Text{"Không có cơ quan đăng ký nào nhận cho một cơ quan nhận của gói tin.", "Kiểm tra mã định danh cơ quan nhận, hoặc đề nghị đơn vị vận hành đăng ký cơ quan đó."},
		Text{"No registered agency receives for a recipient of the packet.", "Check the recipient's OrganId, or ask the operator to register it."}},
	{"packet.not_found", 404,
		Text{"Không có gói tin này, hoặc người gọi không phải bên gửi/nhận của nó.", "Kiểm tra mã gói tin và mã truy cập đang dùng."},
		Text{"No such packet, or the caller is not a party to it.", "Check the packet id and the token used."}},
	{"packet.hash_mismatch", 422,
		Text{"Giá trị băm khai báo của một tệp khác với nội dung thật.", "Tính lại giá trị băm của tệp rồi gửi lại."},
		Text{"A declared file hash differs from the file's content.", "Recompute the file's hash and send again."}},
	{"hub.unavailable", 503,
		Text{"Trục tạm thời không phục vụ được (kho lưu trữ, Kafka hoặc đĩa đầy); không có gì được ghi nhận.", "Gửi lại sau thời gian trong Retry-After; gửi lại là an toàn (idempotent theo mã gói tin)."},
		Text{"The hub cannot serve the request now (storage, the broker, a full disk); nothing was recorded.", "Retry after Retry-After; resending is safe (idempotent by packet id)."}},
	{"request.media_type", 415,
		Text{"Kiểu nội dung của yêu cầu không được hỗ trợ.", "Gửi application/xml hoặc multipart/form-data."},
		Text{"The request's media type is not supported.", "Send application/xml or multipart/form-data."}},
	{"request.multipart", 400,
		Text{"Yêu cầu multipart sai (không có phần packet, hai phần packet, thiếu boundary).", "Gửi đúng một phần packet và tuỳ chọn một phần signature."},
		Text{"The multipart request is wrong (no packet part, two of them, no boundary).", "Send exactly one packet part and optionally one signature part."}},
	{"request.json", 400,
		Text{"Thân yêu cầu không phải JSON như mong đợi.", `Gửi {"result":"done"|"fail","reason":"..."}.`},
		Text{"The request body is not the JSON expected.", `Send {"result":"done"|"fail","reason":"..."}.`}},
	{"request.bad_kind", 400,
		Text{"Tham số kind không hợp lệ.", "Dùng kind=edoc hoặc kind=status."},
		Text{"The kind parameter is not valid.", "Use kind=edoc or kind=status."}},
	{"request.bad_cursor", 400,
		Text{"Con trỏ phân trang không thuộc danh sách này.", "Dùng giá trị next của chính trang trước, hoặc bắt đầu lại không có cursor."},
		Text{"The cursor does not continue this listing.", "Use the previous page's next value, or start again without a cursor."}},
	{"request.bad_result", 400,
		Text{"Kết quả xác nhận không hợp lệ.", "result phải là done hoặc fail."},
		Text{"The acknowledgement's result is not valid.", "result must be done or fail."}},
	{"log.off", 404,
		Text{"Trục này không giữ sổ ghi kiểm chứng được (evidence.key chưa đặt).", "Đề nghị đơn vị vận hành bật sổ ghi (docs/evidence.md)."},
		Text{"This hub keeps no verifiable log (evidence.key is not set).", "Ask the operator to turn the log on (docs/evidence.md)."}},
	{"log.pending", 503,
		Text{"Các mục của gói tin chưa vào sổ ghi, hoặc trục vừa khởi động và chưa đọc xong sổ.", "Thử lại sau vài giây (Retry-After)."},
		Text{"The packet's leaves are not in the log yet, or the hub is starting and has not read the log.", "Retry in a few seconds (Retry-After)."}},
	{"log.bad_range", 400,
		Text{"Kích thước cây hoặc ô (tile) không có trong sổ ghi.", "Dùng kích thước của một checkpoint đã công bố (from ≤ to) và đường dẫn tile theo C2SP tlog-tiles."},
		Text{"No such tree size or tile in the log.", "Use sizes of published checkpoints (from ≤ to) and C2SP tlog-tiles paths."}},
}

// VDXPProblems are the codes only the /vdxp/ endpoints answer, not in the
// REST API's ErrorCode (a test collects every code internal/vdxp answers
// with from its source, so a new one needs a page here).
var VDXPProblems = []Problem{
	{Code: "request.missing_parameter", Status: 400,
		VI: Text{"Thiếu một tham số bắt buộc của thao tác /vdxp/ (docId, status, hoặc from khi hệ thống phục vụ nhiều cơ quan).",
			"Gửi tham số được nêu trong ErrorDesc trong phần tiêu đề đã ký (XroadVnpt-…), rồi gửi lại."},
		EN: Text{"A /vdxp/ operation's required parameter is absent (docId, status, or from when the system serves several agencies).",
			"Send the parameter ErrorDesc names in the signed header (XroadVnpt-…), and try again."}},
	{Code: "request.bad_parameter", Status: 400,
		VI: Text{"Một tham số của thao tác /vdxp/ có giá trị thao tác không nhận (messagetype, status, ngày tháng).",
			"Dùng giá trị docs/vdxp.md nêu: messagetype là edoc hoặc status; status của updateStatus là done, fail hoặc processing (trạng thái nghiệp vụ gửi bằng gói tin trạng thái qua sendEdoc); ngày tháng fromDate/toDate dạng yyyy/MM/dd (hoặc một dạng khác docs/vdxp.md liệt kê)."},
		EN: Text{"A /vdxp/ operation's parameter has a value the operation does not take (messagetype, status, a date).",
			"Use a value docs/vdxp.md lists: messagetype edoc or status; updateStatus's status done, fail or processing (a business status is a status packet sent with sendEdoc); fromDate/toDate as yyyy/MM/dd (or another form docs/vdxp.md lists)."}},
	{Code: "request.unknown_operation", Status: 404,
		VI: Text{"Không có thao tác này dưới /vdxp/, hoặc phương thức HTTP không phải GET hay POST (khi đó 405).",
			"Kiểm tra tên thao tác (ví dụ sendEdoc, getReceivedEdocList); registerAgency và deleteAgency không được phục vụ: danh bạ là cấu hình của trục."},
		EN: Text{"No such operation under /vdxp/, or an HTTP method other than GET and POST (405 then).",
			"Check the operation's name (e.g. sendEdoc, getReceivedEdocList); registerAgency and deleteAgency are not served: the directory is the hub's configuration."}},
}
